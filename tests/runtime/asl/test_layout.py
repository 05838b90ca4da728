import subprocess
import sys


def test_the_asl_package_imports_neither_django_nor_channels():
    probe = "import sys, runtime.asl; print('django' in sys.modules or 'channels' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_the_interpreter_never_uses_eval_or_exec():
    from pathlib import Path

    import runtime.asl

    for module in Path(runtime.asl.__file__).parent.glob("*.py"):
        text = module.read_text()
        assert "eval(" not in text.replace("_eval(", "").replace("evaluate(", "")
        assert "exec(" not in text
