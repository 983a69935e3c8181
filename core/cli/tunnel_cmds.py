"""`vessl-tui tunnel RUN REMOTE_PORT [--local-port N]`: hold a run's port open on 127.0.0.1 until
Ctrl-C. SSH runs get a forward over the host's connection (reconnecting by itself); local and
Docker runs report their directly reachable port the same way."""

from __future__ import annotations

import signal
import threading

import click

from core.cli.telling import fail, user_errors


@click.command()
@click.argument("run")
@click.argument("remote_port", type=click.IntRange(1, 65535))
@click.option("--local-port", type=click.IntRange(1, 65535), help="Wished local port (a free one when busy).")
@user_errors
def tunnel(run: str, remote_port: int, local_port: int | None) -> None:
    """Forward port REMOTE_PORT of RUN to this machine until Ctrl-C."""
    from core.engine import Engine
    from core.tunnels import TunnelManager

    engine = Engine()
    record = engine.get(run)
    if record.final:
        fail(f"run {record.name} ({record.id}) is {record.status}; nothing listens on its ports any more.")
    manager = TunnelManager()
    opened = manager.open_for_run(engine, record.id, remote_port, local_port)
    via = "forwarded over SSH" if opened.kind == "ssh" else "reachable directly"
    what = "Jupyter" if opened.path else f"port {remote_port}"
    click.echo(f"{opened.url}  ->  {record.name} {what} ({via}); Ctrl-C to stop")
    shown = opened.state
    stop = stop_on_signals()
    try:
        while opened.is_open and not stop.wait(0.5):
            if opened.state != shown:
                shown = opened.state
                click.echo(f"tunnel {shown}" + (f": {opened.message}" if opened.message else ""), err=True)
            if engine.get(record.id).final:
                click.echo(f"run {record.name} ended; closing the tunnel.", err=True)
                break
    except KeyboardInterrupt:
        pass
    finally:
        manager.close_all()


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT (Ctrl-C), SIGTERM or SIGHUP. The handlers are installed explicitly:
    Python raises KeyboardInterrupt only where SIGINT was not ignored when it started, and every
    command a non-interactive shell starts in the background (`cmd &`) starts with SIGINT ignored,
    so a tunnel started that way would never stop on `kill -INT`."""
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, lambda *_: stop.set())
    return stop
