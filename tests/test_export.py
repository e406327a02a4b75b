"""Export round trip: int8 per-row + zlib, fp16_embed keeps the embedding exact in fp16."""

import torch

from model.config import TrainConfig
from model.export import read_artifact, write_artifact
from model.gpt import GPT

torch.set_num_threads(1)


def test_round_trip_is_close_and_fp16_embed_exact(tmp_path):
    torch.manual_seed(0)
    model = GPT(TrainConfig.preset("tiny"))
    with torch.no_grad():
        for block in model.blocks:
            block.mlp.proj.weight.normal_(0, 0.02)
    state = model.state_dict()
    path = write_artifact(state, tmp_path / "a")
    assert path.name == "final_model.int8.ptz" and path.stat().st_size > 0
    back = read_artifact(path)
    assert set(back) == set(state)
    emb = state["tok_emb.weight"]
    err = (back["tok_emb.weight"] - emb).abs().max()
    assert 0 < err <= emb.abs().max() / 127  # int8 per-row: lossy but within one step
    for name, t in state.items():
        assert torch.allclose(back[name], t.float(), atol=t.abs().max().item() / 100 + 1e-3), name
    exact = read_artifact(write_artifact(state, tmp_path / "b", fp16_embed=True))
    assert torch.equal(exact["tok_emb.weight"], emb.half().float())
    x = torch.randint(0, 1024, (1, 16))
    model.load_state_dict(back)
    assert torch.isfinite(model(x)).all()
