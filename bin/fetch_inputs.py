#!/usr/bin/env python3
"""FETCH_INPUTS: download a named reference from the registry, or any URL with its checksum.

The file lands in `--outdir` under its final name only once verified; its sha256 is written
beside it (`<name>.sha256`). The path of the file is printed on stdout.
"""

from __future__ import annotations

from pathlib import Path

import click

from seq2expr.cli import command, outdir_option, setup_logging, verbose_option
from seq2expr.io.fetch import FetchRequest, RetryPolicy, describe_registry, load_registry, run

DEFAULT_REGISTRY = Path(__file__).resolve().parents[1] / "assets" / "references.json"


@command()
@click.option("--reference", metavar="NAME", help="A reference named in the registry (see --list).")
@click.option("--list", "list_only", is_flag=True, help="Print the registry's references and exit.")
@click.option("--url", help="Download this URL instead of a registry reference (needs --sha256 or --md5).")
@click.option("--sha256", metavar="HEX", help="Expected sha256 of the file at --url.")
@click.option("--md5", metavar="HEX", help="Expected md5 of the file at --url.")
@click.option("--filename", help="Name to save the --url download under (default: the URL's last path part).")
@click.option(
    "--registry",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_REGISTRY,
    show_default="assets/references.json of this pipeline",
    help="Reference registry (JSON).",
)
@outdir_option
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=RetryPolicy.retries,
    show_default=True,
    help="Retries after a failure (pooch waits 1 s, 2 s, … between them).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=RetryPolicy.timeout,
    show_default=True,
    help="Seconds to wait for the server before counting a failure.",
)
@verbose_option
def main(
    reference: str | None,
    list_only: bool,
    url: str | None,
    sha256: str | None,
    md5: str | None,
    filename: str | None,
    registry: Path,
    outdir: Path,
    retries: int,
    timeout: float,
    verbose: bool,
) -> None:
    """Download a reference (genome, annotation, expression table) and verify it."""
    setup_logging(verbose)
    if list_only:
        click.echo(describe_registry(load_registry(registry)))
        return
    request = FetchRequest(
        outdir=outdir,
        registry=registry,
        reference=reference,
        url=url,
        sha256=sha256,
        md5=md5,
        filename=filename,
        policy=RetryPolicy(retries=retries, timeout=timeout),
    )
    click.echo(str(run(request).path))


if __name__ == "__main__":
    main()
