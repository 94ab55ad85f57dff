"""Options shared by the command groups, and the group class that gives every command
``--debug``."""

from __future__ import annotations

import click

set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config field, e.g. select.top_n=[500,1000]."
)


def _debug_callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``lhcad CMD --debug`` means what ``lhcad --debug CMD`` means: the flag lives on the root."""
    if value:
        ctx.find_root().params["debug"] = True


def debug_option() -> click.Option:
    """A command's own ``--debug`` (tracebacks, like the group's); its value goes to the root."""
    return click.Option(
        ["--debug"], is_flag=True, expose_value=False, callback=_debug_callback, help="Show tracebacks."
    )


class LhcadGroup(click.Group):
    """The ``lhcad`` group: every command added to it also accepts ``--debug``."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if not any(isinstance(p, click.Option) and "--debug" in p.opts for p in cmd.params):
            cmd.params.append(debug_option())
        super().add_command(cmd, name)
