#!/usr/bin/env python3
"""`soma data download` against a local HTTP server on 127.0.0.1 that serves good, tampered and
incomplete copies of MNIST: good files are verified and land; a tampered or missing file fails
with a clear error and leaves nothing behind, not even over an existing good copy.

Needs the MNIST files of the data root ($SOMA_DATA); exits 77 (skipped) without them."""
import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading

FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def soma(binary, *args):
    run = subprocess.run([binary, *args], capture_output=True, text=True)
    return run.returncode, run.stdout + run.stderr


def check(condition, message):
    if not condition:
        print("FAIL:", message)
        sys.exit(1)


def leftovers(root):
    return [name for name in os.listdir(root) if name.startswith(".soma-download")] \
        if os.path.isdir(root) else []


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--soma", required=True)
    args = parser.parse_args()
    source = os.path.join(os.environ.get("SOMA_DATA", ""), "mnist")
    if not all(os.path.exists(os.path.join(source, f)) for f in FILES):
        print("skipped: MNIST not found in $SOMA_DATA")
        return 77

    with tempfile.TemporaryDirectory() as tmp:
        served = os.path.join(tmp, "served")
        for variant in ["good", "tampered", "incomplete"]:
            os.makedirs(os.path.join(served, variant))
            for f in FILES:
                if variant == "incomplete" and f == FILES[3]:
                    continue
                shutil.copy(os.path.join(source, f), os.path.join(served, variant, f))
        with open(os.path.join(served, "tampered", FILES[1]), "r+b") as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 0x01]))

        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Quiet, directory=served))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            root = os.path.join(tmp, "root")
            code, out = soma(args.soma, "data", "download", "mnist", "--mirror", url + "/good",
                             "--data-dir", root)
            check(code == 0, "good download failed:\n" + out)
            code, out = soma(args.soma, "data", "list", "--data-dir", root)
            check(code == 0 and "mnist          ok" in out and "4/4 files verified" in out,
                  "list after a good download:\n" + out)
            before = {f: open(os.path.join(root, "mnist", f), "rb").read() for f in FILES}

            for variant, expected in [("tampered", "SHA-256 mismatch"),
                                      ("incomplete", "download failed")]:
                for target in [os.path.join(tmp, "fresh-" + variant), root]:
                    code, out = soma(args.soma, "data", "download", "mnist", "--mirror",
                                     url + "/" + variant, "--data-dir", target)
                    check(code != 0 and "error:" in out and expected in out,
                          f"{variant} download into {target} should fail with {expected}:\n{out}")
                    check(not leftovers(target), f"{variant}: temporary files left in {target}")
                    if target != root:
                        check(not os.path.exists(os.path.join(target, "mnist")),
                              f"{variant}: a partial mnist/ was left in {target}")
            after = {f: open(os.path.join(root, "mnist", f), "rb").read() for f in FILES}
            check(before == after, "a failed download changed the existing good copy")

            local = os.path.join(tmp, "from-folder")
            code, out = soma(args.soma, "data", "download", "mnist", "--mirror",
                             os.path.join(served, "good"), "--data-dir", local)
            check(code == 0 and "4 files verified" in out, "download from a folder:\n" + out)
            code, out = soma(args.soma, "data", "download", "imagenet", "--data-dir", local)
            check(code != 0 and "known: mnist, fashion_mnist, cifar10" in out,
                  "unknown dataset:\n" + out)
        finally:
            server.shutdown()
    print("download test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
