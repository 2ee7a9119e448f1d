"""The programs in examples/ run and print what they should."""
import os
import subprocess
import sys

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'examples')


def run_example(name):
    return subprocess.run([sys.executable, os.path.join(EXAMPLES, name)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, cwd=EXAMPLES)


def test_quickstart():
    proc = run_example('quickstart.py')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "sizeof(pixel_t) = 3",
        "image: <ctype 'pixel_t[]'> with 480000 pixels, 1440000 bytes",
        "pixel 100 = (255, 192, 128)",
        "pixel 101 = (0, 0, 0)",
        "bytes 300..303 of the buffer: b'\\xff\\xc0\\x80'",
        'strlen(b"hello, world") = 12',
    ]
