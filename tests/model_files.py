"""Small but real GGUF files for tests, written with the gguf package (random weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
          "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def write_tiny_gguf(path: Path, layers: int = 2, chat_template: bool | str = True) -> Path:
    """A llama-architecture model of a few hundred kilobytes whose header says what a real one
    says (layers, heads, context, file type, tokenizer); `chat_template` may be a template's
    text."""
    import gguf

    width, heads, kv_heads, vocab = 64, 4, 2, 32
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny test model")
    writer.add_context_length(2048)
    writer.add_embedding_length(width)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(128)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list([f"t{i}" for i in range(vocab)])
    writer.add_token_scores([0.0] * vocab)
    writer.add_token_types([1] * vocab)
    if chat_template:
        writer.add_chat_template(CHATML if chat_template is True else chat_template)
    rng = np.random.default_rng(0)
    head = width // heads
    tensors = {"token_embd.weight": (vocab, width), "output_norm.weight": (width,),
               "output.weight": (vocab, width)}
    for i in range(layers):
        tensors.update({f"blk.{i}.attn_norm.weight": (width,), f"blk.{i}.attn_q.weight": (width, width),
                        f"blk.{i}.attn_k.weight": (kv_heads * head, width),
                        f"blk.{i}.attn_v.weight": (kv_heads * head, width),
                        f"blk.{i}.attn_output.weight": (width, width), f"blk.{i}.ffn_norm.weight": (width,),
                        f"blk.{i}.ffn_gate.weight": (128, width), f"blk.{i}.ffn_up.weight": (128, width),
                        f"blk.{i}.ffn_down.weight": (width, 128)})
    for name, shape in tensors.items():
        writer.add_tensor(name, rng.standard_normal(shape).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
