"""Encoder runtime, project embedding, matching and the review queue on tiny synthetic models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.onnx_factory import tiny_encoder

from reid_desktop.core.encoders.contract import ContractError
from reid_desktop.core.encoders.defaults import working_encoder
from reid_desktop.core.encoders.embed import embed_project
from reid_desktop.core.encoders.registry import open_encoder, register_encoder, resolve_encoder
from reid_desktop.core.encoders.runtime import EncoderRuntime, pool_stripes
from reid_desktop.core.identities.links import LinkGraph
from reid_desktop.core.ingest.scan import ingest
from reid_desktop.core.jobs import CancelToken, Progress, run_job
from reid_desktop.core.retrieval.matching import GalleryIndex
from reid_desktop.core.review.queue import build_queue
from reid_desktop.store import Decision, Project


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    return tiny_encoder(tmp_path / "tiny.onnx")


@pytest.fixture
def embedded(project: Project, two_cameras, model_file):
    run_job(ingest(project, two_cameras))
    model = register_encoder(project, model_file, "tiny")
    run_job(embed_project(project, model.id, open_encoder(model)))
    return project, model


def test_pool_stripes_bands_and_fewer_rows_than_k():
    fmap = np.arange(2 * 3 * 16 * 4, dtype=np.float32).reshape(2, 3, 16, 4)
    s = pool_stripes(fmap, 8)
    assert s.shape == (2, 8, 3)
    # Stripe 0 = rows 0-1 averaged over columns.
    np.testing.assert_allclose(s[1, 0], fmap[1, :, 0:2, :].mean(axis=(1, 2)))
    np.testing.assert_allclose(s[0, 7], fmap[0, :, 14:16, :].mean(axis=(1, 2)))
    assert pool_stripes(fmap[:, :, :5], 8).shape == (2, 5, 3)  # one stripe per row


def test_encoder_loads_on_cpu_and_encodes(model_file):
    from PIL import Image

    enc = EncoderRuntime.load(model_file, stripes=4)
    assert enc.provider == "CPUExecutionProvider" and enc.provider_label == "CPU"
    imgs = [Image.new("RGB", (48, 128), c) for c in ((200, 0, 0), (0, 200, 0), (0, 0, 200))]
    emb = enc.encode(imgs)
    assert emb.global_.shape[0] == 3 and np.isfinite(emb.global_).all()
    assert emb.stripes is not None and emb.stripes.shape[:2] == (3, 4)
    assert not np.allclose(emb.global_[0], emb.global_[1])


def test_encoder_falls_back_to_cpu_when_a_gpu_provider_fails(model_file):
    enc = EncoderRuntime.load(model_file, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert enc.provider == "CPUExecutionProvider"
    assert any("falling back" in n for n in enc.notes)


def test_encoder_refuses_a_model_without_contract_metadata(tmp_path):
    from helpers.onnx_factory import small_cnn

    raw = small_cnn(tmp_path / "raw.onnx")
    with pytest.raises(ContractError, match="import it with"):
        EncoderRuntime.load(raw)


def test_embedding_is_cached_resumable_and_per_model(project, two_cameras, model_file, tmp_path):
    run_job(ingest(project, two_cameras))
    model = register_encoder(project, model_file, "tiny")
    assert project.active_encoder_id == model.id
    enc = open_encoder(model)
    token = CancelToken()
    seen: list[Progress] = []

    def stop_after_first_batch(p: Progress) -> None:
        seen.append(p)
        if p.done >= 8:
            token.cancel()

    rep = run_job(embed_project(project, model.id, enc, token, batch_size=8), stop_after_first_batch)
    assert rep.cancelled and 8 <= rep.encoded < 24
    done_first = project.embeddings.count(model.id)
    rep2 = run_job(embed_project(project, model.id, enc, batch_size=8))
    assert rep2.already == done_first and rep2.encoded == 24 - done_first
    assert project.embeddings.count(model.id) == 24
    # A second model embeds everything again, separately.
    other = register_encoder(project, tiny_encoder(tmp_path / "other.onnx", seed=3), "other")
    rep3 = run_job(embed_project(project, other.id, open_encoder(other)))
    assert rep3.encoded == 24 and project.embeddings.count() == 48
    assert resolve_encoder(project, "tiny").id == model.id
    assert working_encoder(project).id == other.id  # registering activates by default
    project.set_active_encoder(model.id)
    assert working_encoder(project).id == model.id and working_encoder(project, str(other.id)) == other


def test_unreadable_crop_is_reported_not_fatal(project, two_cameras, model_file):
    run_job(ingest(project, two_cameras))
    first = project.crops.all()[0]
    cam = project.cameras.get(first.camera_id)
    (Path(cam.root) / first.rel_path).write_bytes(b"")
    model = register_encoder(project, model_file, "tiny")
    rep = run_job(embed_project(project, model.id, open_encoder(model)))
    assert rep.encoded == 23 and [cid for cid, _ in rep.failed] == [first.id]


def test_model_file_changed_after_registration_is_refused(project, model_file):
    model = register_encoder(project, model_file, "tiny")
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    with pytest.raises(ContractError, match="changed since it was registered"):
        open_encoder(model)


def test_topk_is_cross_camera_sorted_and_excludes_self(embedded):
    project, model = embedded
    index = GalleryIndex.from_project(project, model.id)
    assert len(index) == 24
    q = project.crops.all()[0]
    cands = index.topk(q.id, 50)
    assert len(cands) == 12  # only the other camera's 12 crops
    cams = {c.crop_id: project.crops.get(c.crop_id).camera_id for c in cands}
    assert q.camera_id not in cams.values()
    scores = [c.score for c in cands]
    assert scores == sorted(scores, reverse=True)
    same = index.topk(q.id, 50, same_camera=True)
    assert len(same) == 23 and q.id not in {c.crop_id for c in same}


def test_topk_brute_force_agreement():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(300, 16)).astype(np.float32)
    cams = rng.integers(0, 3, 300)
    index = GalleryIndex(np.arange(300) + 10, cams, feats, None)
    unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    for q in (0, 17, 299):
        s = unit @ unit[q]
        expect = sorted((i for i in range(300) if cams[i] != cams[q]), key=lambda i: (-s[i], i))[:20]
        got = [c.crop_id - 10 for c in index.topk(q + 10, 20)]
        assert got == expect


def test_stripe_matrix_is_centred_cosine(embedded):
    project, model = embedded
    index = GalleryIndex.from_project(project, model.id)
    a, b = (c.id for c in project.crops.all()[:2])
    m = index.stripe_matrix(a, b)
    k = index.stripes.shape[1]
    assert m.shape == (k, k) and np.all(np.abs(m) <= 1.0001)
    _, _, _, raw = project.embeddings.load_all(model.id)
    centred = raw - raw.mean(axis=0, keepdims=True)
    ra, rb = index.row(a), index.row(b)
    i, j = 1, 2
    u, v = centred[ra, i], centred[rb, j]
    assert m[i, j] == pytest.approx(float(u @ v / np.linalg.norm(u) / np.linalg.norm(v)), abs=1e-5)


def _decision(i: int, a: int, b: int, verdict: str) -> Decision:
    return Decision(i, a, b, verdict, None, None, "t", "now")


def test_review_queue_orders_mutual_first_and_respects_decisions():
    # Two cameras, 4 people; person p's crops are near each other.
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(4, 8)) * 5
    feats = np.concatenate([centres + rng.normal(size=(4, 8)) * 0.1, centres + rng.normal(size=(4, 8)) * 0.1])
    ids = np.arange(1, 9)  # crops 1-4 camera 0, 5-8 camera 1: crop p+1 matches crop p+5
    cams = np.array([0] * 4 + [1] * 4)
    index = GalleryIndex(ids, cams, feats.astype(np.float32), None)
    queue = build_queue(index, LinkGraph(), k=3)
    mutual = [(p.query, p.candidate) for p in queue if p.kind == "mutual"]
    assert sorted(mutual) == [(1, 5), (2, 6), (3, 7), (4, 8)]
    assert queue[: len(mutual)] == [p for p in queue if p.kind == "mutual"]
    pairs = [(p.query, p.candidate) for p in queue]
    assert len(pairs) == len(set(pairs))
    # Decided pairs disappear; pairs joining components declared different are blocked.
    links = LinkGraph([_decision(1, 1, 5, "same"), _decision(2, 2, 6, "different")])
    queue2 = build_queue(index, links, k=3)
    keys = {LinkGraph.key(p.query, p.candidate) for p in queue2}
    assert (1, 5) not in keys and (2, 6) not in keys
    assert all(not links.linked(p.query, p.candidate) for p in queue2)
    comps = [LinkGraph.key(links.component(p.query), links.component(p.candidate)) for p in queue2]
    assert len(comps) == len(set(comps))  # one pair per pair of identities


def test_link_graph_components_and_contradictions():
    links = LinkGraph(
        [
            _decision(1, 1, 2, "same"),
            _decision(2, 2, 3, "same"),
            _decision(3, 4, 5, "same"),
            _decision(4, 1, 4, "different"),
        ]
    )
    assert links.components() == {1: [1, 2, 3], 4: [4, 5]}
    assert links.forbidden(3, 5) and not links.forbidden(3, 6)
    links.add(3, 5, "same")
    assert links.contradictions() == [(1, 4)]
