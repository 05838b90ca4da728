"""What hosts of runs tell other processes: each run's status, and the commands they take.

A run lives in one process (the server on the embedded default). Every other process (a second
web process, the `runs` CLI) learns about it from ``RunStatus``, which the host refreshes about
once a second, and changes it through ``RunCommand``, which the host carries out. The database
is the one thing every process shares on every configuration.
"""

from __future__ import annotations

from django.db import models


class RunStatus(models.Model):
    """The latest word of the process hosting a topology's run."""

    topology_id = models.BigIntegerField(unique=True)
    state = models.CharField(max_length=16, default="stopped")
    run = models.CharField(max_length=64, blank=True)
    revision = models.PositiveIntegerField(null=True, blank=True)
    host = models.CharField(max_length=200, blank=True)
    heartbeat = models.DateTimeField()
    # JSON text (see designer.fields for why documents are not jsonb): the store's promise,
    # what the run recovered or dropped, and per-node counters and gauges.
    details = models.TextField(default="{}")

    class Meta:
        verbose_name_plural = "run statuses"

    def __str__(self) -> str:
        return f"topology {self.topology_id}: {self.state} on {self.host or 'no host'}"


class RunCommand(models.Model):
    """A command for whichever process hosts runs: deploy, redeploy, stop or reset."""

    class Action(models.TextChoices):
        DEPLOY = "deploy"
        REDEPLOY = "redeploy"
        STOP = "stop"
        RESET = "reset"
        PAUSE = "pause"
        RESUME = "resume"

    topology_id = models.BigIntegerField()
    action = models.CharField(max_length=16, choices=Action)
    reset = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    host = models.CharField(max_length=200, blank=True)
    result = models.TextField(default="{}")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.action} topology {self.topology_id}"
