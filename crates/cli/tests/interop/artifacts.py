"""Real third-party artifacts for Concordat's interop tests, made with the tools labs use.

    python artifacts.py OUT_DIR

writes, under OUT_DIR:
- logs/*.json and logs/*.eval: Inspect AI eval logs of a small inline task run on Inspect's
  offline `mockllm/model` provider, in both log formats;
- ec.key / ec.pub: an EC P-256 key pair (PEM);
- model/: a small model directory, and model.sig: its OpenSSF model-signing bundle, signed
  with ec.key by the `model_signing` CLI.
"""

import os
import pathlib
import subprocess
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

TASK = '''
from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.model._model import ModelAPI
from inspect_ai.scorer import includes
from inspect_ai.solver import generate


# Offline: Inspect's default token counter downloads a tokenizer. Estimate from characters.
async def count_text_tokens(self, text):
    return max(1, len(text) // 4)


ModelAPI.count_text_tokens = count_text_tokens


@task
def refusal_check():
    return Task(
        dataset=[Sample(input=f"Request {i}", target="Default output") for i in range(4)],
        solver=generate(),
        scorer=includes(),
    )
'''


def main(out: pathlib.Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    bin_dir = pathlib.Path(sys.executable).parent
    env = dict(os.environ, HOME=str(out / "home"), INSPECT_LOG_DIR=str(out / "logs"))
    (out / "task.py").write_text(TASK)
    for log_format in ("json", "eval"):
        subprocess.run(
            [bin_dir / "inspect", "eval", "task.py", "--model", "mockllm/model",
             "--log-format", log_format, "--display", "none"],
            cwd=out, env=env, check=True,
        )

    key = ec.generate_private_key(ec.SECP256R1())
    (out / "ec.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (out / "ec.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    model = out / "model"
    (model / "tokenizer").mkdir(parents=True, exist_ok=True)
    (model / "config.json").write_text('{"architecture": "decoder", "layers": 2}\n')
    (model / "weights.safetensors").write_bytes(bytes(range(256)) * 512)
    (model / "tokenizer" / "vocab.txt").write_text("refuse\ncomply\n")
    subprocess.run(
        [bin_dir / "model_signing", "sign", "key", str(model),
         "--private_key", str(out / "ec.key"), "--signature", str(out / "model.sig")],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
