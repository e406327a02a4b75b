import inspect
import json
import textwrap

import pytest
import sentencepiece as spm
import torch

from model.data import build_bpb_luts, target_bytes


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    # Real English prose: docstrings of a few stdlib modules.
    text = "\n".join(textwrap.dedent(inspect.getdoc(o) or "") for m in (json, inspect, textwrap)
                     for _, o in inspect.getmembers(m))
    d = tmp_path_factory.mktemp("tok")
    (d / "c.txt").write_text(text)
    spm.SentencePieceTrainer.train(input=str(d / "c.txt"), model_prefix=str(d / "t"), model_type="bpe",
                                   vocab_size=512, byte_fallback=True, split_digits=True,
                                   add_dummy_prefix=False, pad_id=0, bos_id=1, eos_id=2, unk_id=3,
                                   character_coverage=0.99, minloglevel=2)
    return d / "t.model", text


def test_bytes_match_decode(tokenizer):
    path, text = tokenizer
    sp = spm.SentencePieceProcessor(model_file=str(path))
    sample = text[:4000] + " naïve café 😀 2024"
    ids = [1] + sp.encode(sample)  # bos first, as prev of the first token
    luts = build_bpb_luts(path, 512, "cpu")
    t = torch.tensor(ids)
    counted = int(target_bytes(t[:-1], t[1:], luts).sum())
    assert counted == len(sp.decode(ids[1:]).encode("utf-8"))
