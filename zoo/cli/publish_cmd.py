"""`zoo publish NAME --repo-id ORG/NAME`: cached weights -> a Hub repository with a model card and manifest."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("publish")
@click.argument("name")
@click.option("--repo-id", required=True, help="the Hub repository to create or update, ORG/NAME")
@click.option("--dry-run", is_flag=True, help="write the folder (card, manifest, registry row) and upload nothing")
@click.option("--private", is_flag=True, help="create the repository private")
@click.option("--bench", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a 'zoo bench --json' report: its rows go into the model card")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="where to write the folder (new, empty, or an earlier publish folder of NAME)")
def publish_cmd(name: str, repo_id: str, dry_run: bool, private: bool, bench: Path | None, out: Path | None) -> None:
    """Publish NAME's cached weights (safetensors) with a model card; prints the revision and sha256 to pin."""
    from zoo.publish import publish

    result = publish(name, repo_id, dry_run=dry_run, private=private, bench=bench, out=out)
    click.echo(f"wrote {result.folder} ({', '.join(result.files)}, SHA256SUMS, registry-row.yaml)", err=True)
    if result.revision:
        click.echo(f"uploaded to {repo_id} at revision {result.revision}", err=True)
    click.echo((result.folder / "registry-row.yaml").read_text(), nl=False)
