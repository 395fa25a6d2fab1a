#!/usr/bin/env python3
"""FETCH_INPUTS: download a named reference from the registry, or any URL with its checksum.

The file lands in `--outdir` under its final name only once verified; its sha256 is written
beside it (`<name>.sha256`). The path of the file is printed on stdout.
"""

from __future__ import annotations

from pathlib import Path

import click

from seq2expr.cli import command, outdir_option, setup_logging, verbose_option
from seq2expr.errors import InputError
from seq2expr.fetch import (
    Checksum,
    RetryPolicy,
    describe_registry,
    fetch,
    fetch_reference,
    load_registry,
    lookup,
    target_filename,
)

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
    default=3,
    show_default=True,
    help="Retries after a failure (pooch waits 1 s, 2 s, … between them).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
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
    policy = RetryPolicy(retries=retries, timeout=timeout)
    if list_only:
        click.echo(describe_registry(load_registry(registry)))
        return
    if reference is not None and url is None:
        if sha256 or md5 or filename:
            raise InputError("--sha256, --md5 and --filename go with --url; a reference brings its own")
        result = fetch_reference(lookup(load_registry(registry), reference), outdir, policy)
    elif url is not None and reference is None:
        if (sha256 is None) == (md5 is None):
            raise InputError("--url needs exactly one of --sha256 HEX or --md5 HEX (the publisher's checksum)")
        checksum = Checksum.parse("sha256", sha256) if sha256 else Checksum.parse("md5", md5 or "")
        result = fetch(url, outdir / target_filename(url, filename), checksum, policy)
    else:
        raise InputError("give exactly one of --reference NAME or --url URL (--list shows the references)")
    click.echo(str(result.path))


if __name__ == "__main__":
    main()
