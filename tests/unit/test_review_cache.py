"""Preparing identity review: the similarity table is cached per encoder in the project, reused
while the embeddings are unchanged, rebuilt when they change or the blob is damaged; only
Market-1501 layouts give frames."""

from __future__ import annotations

import numpy as np
from helpers.rows import add_crops

from reid_desktop.core.jobs import run_job
from reid_desktop.core.retrieval.matching import GalleryIndex
from reid_desktop.core.review import cache
from reid_desktop.store import Project


def _project_with_embeddings(project: Project, layout: str = "folders") -> int:
    add_crops(project, 12, "c1", layout, frames=True)
    add_crops(project, 12, "c2", layout, frames=True)
    enc = project.encoders.add("e", "/e.onnx", "s", {})
    rng = np.random.default_rng(0)
    project.embeddings.put_many(enc.id, [(c.id, rng.normal(size=8), None) for c in project.crops.all()])
    return enc.id


def test_the_table_is_cached_and_reused_until_embeddings_change(project, monkeypatch):
    enc = _project_with_embeddings(project)
    calls = []
    real = cache.build_similarity

    def counting(*a, **k):
        calls.append(1)
        return (yield from real(*a, **k))

    monkeypatch.setattr(cache, "build_similarity", counting)
    first = run_job(cache.prepare_review(project, enc))
    again = run_job(cache.prepare_review(project, enc))
    assert len(calls) == 1
    rows = np.arange(len(first.index))
    assert np.array_equal(first.similarity.block(rows, rows), again.similarity.block(rows, rows))
    crop = project.crops.all()[0].id
    project.embeddings.put_many(enc, [(crop, np.ones(8), None)])  # re-embedded: a new key
    run_job(cache.prepare_review(project, enc))
    assert len(calls) == 2


def test_a_damaged_blob_is_rebuilt(project):
    enc = _project_with_embeddings(project)
    index = GalleryIndex.from_project(project, enc)
    key = cache.cache_key(project, enc, index, cache.DEFAULT)
    project.review_cache.put(enc, key, b"not a numpy archive")
    prepared = run_job(cache.prepare_review(project, enc))
    assert len(prepared.similarity) == 24 and prepared.engine.rows


def test_only_market_layouts_give_frames(project, tmp_path):
    enc = _project_with_embeddings(project, layout="folders")
    index = GalleryIndex.from_project(project, enc)
    assert np.isnan(cache.project_frames(project, index)).all()  # guessed by an older release
    with Project.create(tmp_path / "m.reidproj") as market:
        enc2 = _project_with_embeddings(market, layout="market")
        frames = cache.project_frames(market, GalleryIndex.from_project(market, enc2))
        assert not np.isnan(frames).any()
