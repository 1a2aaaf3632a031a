"""deploy/: the systemd units and the crontab agree with the CLI and with each other."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from monitor.cli import build_parser
from tests.ops_helpers import DEPLOY, MONITOR

SERVICES = ("talks-monitor.service", "monitor-poll.service", "monitor-digest.service")
TIMERS = ("monitor-poll.timer", "monitor-digest.timer")
INSTALLED = "/opt/talks-monitor/venv/bin/monitor"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / name, encoding="utf-8")
    return parser


def parses(argv: list[str]) -> str:
    """The command `argv` names, if `monitor`'s own parser accepts it (SystemExit otherwise)."""
    args = build_parser().parse_args(argv)
    return str(args.command)


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("talks-monitor.service", "run"),
        ("monitor-poll.service", "poll"),
        ("monitor-digest.service", "digest"),
    ],
)
def test_execstart_is_a_command_the_cli_accepts(name: str, command: str) -> None:
    service = unit(name)["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == INSTALLED
    assert parses(argv[1:]) == command
    if "ExecStartPost" in service:
        post = shlex.split(service["ExecStartPost"])
        assert post[0] == INSTALLED and parses(post[1:]) == "notify"
    # --config points into the state directory, which is where the unit may write.
    config = Path(argv[argv.index("--config") + 1])
    state = Path("/var/lib") / service["StateDirectory"]
    assert config.parent == state == Path(service["WorkingDirectory"])
    assert service["ReadWritePaths"].split() == [str(state)]


def test_a_wrong_subcommand_would_be_caught() -> None:
    with pytest.raises(SystemExit):
        parses(["--config", "/x.yaml", "pol"])
    with pytest.raises(SystemExit):
        parses(["digest", "--when", "yesterday"])


@pytest.mark.parametrize("name", SERVICES)
def test_services_are_hardened(name: str) -> None:
    service = unit(name)["Service"]
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes"
    assert service["PrivateTmp"] == "yes"
    assert service["ProtectHome"] == "yes"
    assert service["User"] == "talks-monitor"
    assert service["StandardOutput"] == service["StandardError"] == "journal"


def test_the_timer_digest_also_notifies() -> None:
    post = shlex.split(unit("monitor-digest.service")["Service"]["ExecStartPost"])
    assert post[post.index("notify") :] == ["notify", "--date", "yesterday"]


def test_worker_restarts_on_failure_and_starts_at_boot() -> None:
    worker = unit("talks-monitor.service")
    assert worker["Service"]["Type"] == "simple"
    assert worker["Service"]["Restart"] == "on-failure"
    assert worker["Install"]["WantedBy"] == "multi-user.target"
    assert unit("monitor-poll.service")["Service"]["Type"] == "oneshot"


@pytest.mark.parametrize("name", TIMERS)
def test_timers_start_existing_services(name: str) -> None:
    timer = unit(name)
    assert (DEPLOY / timer["Timer"]["Unit"]).exists()
    assert timer["Timer"]["Unit"] == name.replace(".timer", ".service")
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_sysusers_creates_the_user_the_units_run_as() -> None:
    lines = [ln.split() for ln in (DEPLOY / "talks-monitor.sysusers.conf").read_text().splitlines()]
    users = [parts[1] for parts in lines if parts and parts[0] == "u"]
    assert users == ["talks-monitor"]


def test_crontab_lines_are_commands_the_cli_accepts() -> None:
    commands = []
    for line in (DEPLOY / "crontab.example").read_text().splitlines():
        if not line.strip() or line.startswith("#") or "=" in line.split()[0]:
            continue
        fields = line.split(None, 5)
        assert len(fields) == 6, line
        for command in fields[5].split("&&"):
            argv = shlex.split(command)
            assert argv[0].endswith("/bin/monitor")
            commands.append(parses(argv[1:]))
    assert commands == ["poll", "digest", "notify"]


@pytest.fixture
def verifiable(tmp_path: Path) -> Path:
    """The units with ExecStart pointing at this checkout's `monitor` (verify checks it exists)."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    for name in (*SERVICES, *TIMERS):
        text = (DEPLOY / name).read_text(encoding="utf-8").replace(INSTALLED, str(MONITOR))
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def verify(directory: Path, *names: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", *(str(directory / n) for n in names)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=directory,
    )


def test_units_pass_systemd_analyze_verify(verifiable: Path) -> None:
    done = verify(verifiable, *SERVICES, *TIMERS)
    assert done.returncode == 0, done.stderr
    assert "Unknown key" not in done.stderr and "Unknown section" not in done.stderr


def test_verify_would_catch_a_broken_unit(verifiable: Path) -> None:
    broken = verifiable / "broken.service"
    broken.write_text("[Service]\nExecStart=/nonexistent/monitor run\n", encoding="utf-8")
    assert verify(verifiable, "broken.service").returncode != 0


@pytest.mark.parametrize("name", SERVICES)
def test_services_keep_the_rules_cache_in_their_cache_directory(name: str) -> None:
    service = unit(name)["Service"]
    assert service["CacheDirectory"] == "talks-monitor"
    assert service["Environment"] == "MONITOR_CACHE_DIR=/var/cache/talks-monitor"
