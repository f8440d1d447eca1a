"""An app with every kind of output, for the output conversion tests:
`/everything` returns an image, audio, a video, a file, a gallery, text, a
number, JSON and a dataframe at once; `/describe_file` takes a file input and
says what it received; `/two_images` takes two image inputs."""

import hashlib
import os
import tempfile

import gradio as gr
import numpy as np
from PIL import Image


def everything(text):
    folder = tempfile.mkdtemp()
    video = os.path.join(folder, "clip.mp4")
    with open(video, "wb") as f:
        # The head of an MP4 file: enough to be one by its bytes.
        f.write(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 256)
    report = os.path.join(folder, "report.txt")
    with open(report, "w", encoding="utf-8") as f:
        f.write(f"report on {text}\n")
    tone = (np.sin(np.arange(8000) / 8000 * 2 * np.pi * 440) * 20000).astype(np.int16)
    gallery = [(Image.new("RGB", (40 + 10 * i, 30), (i * 80, 0, 0)), f"frame {i}") for i in range(3)]
    table = {"headers": ["word", "length"], "data": [[w, len(w)] for w in text.split()]}
    return (
        Image.new("RGB", (64, 48), (200, 10, 10)),
        (8000, tone),
        video,
        report,
        gallery,
        text.upper(),
        len(text),
        {"words": text.split(), "sha1": hashlib.sha1(text.encode()).hexdigest()},
        table,
    )


def describe_file(document, note):
    if document is None:
        return "no file"
    with open(document, "rb") as f:
        data = f.read()
    return f"{os.path.basename(document)}: {len(data)} bytes, sha1 {hashlib.sha1(data).hexdigest()}, note {note}"


with gr.Blocks() as demo:
    text = gr.Textbox(label="Text")
    outputs = [
        gr.Image(label="Picture"),
        gr.Audio(label="Sound"),
        gr.Video(label="Clip"),
        gr.File(label="Report"),
        gr.Gallery(label="Frames"),
        gr.Textbox(label="Shout"),
        gr.Number(label="Length"),
        gr.JSON(label="Facts"),
        gr.Dataframe(label="Table"),
    ]
    gr.Button("All").click(everything, inputs=[text], outputs=outputs, api_name="everything")
    document = gr.File(label="Document", type="filepath")
    note = gr.Textbox(label="Note", value="none")
    said = gr.Textbox(label="Said")
    gr.Button("Describe").click(describe_file, inputs=[document, note], outputs=[said], api_name="describe_file")


# Large outputs, as image and speech Spaces make them (the result-budget tests).
def big_image(side):
    """A noisy PNG: noise does not compress, so it stays large (2048 px: 12 MB)."""
    side = int(side)
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8))


def long_audio(seconds):
    """`seconds` of a 44.1 kHz tone with noise, as a speech Space returns it."""
    rate = 44100
    t = np.arange(int(rate * float(seconds))) / rate
    noise = np.random.default_rng(3).normal(0, 2000, t.shape)
    return rate, (np.sin(2 * np.pi * 220 * t) * 8000 + noise).astype(np.int16)


def not_a_number():
    """A number output that is NaN, and a table with a missing value, as
    Python's json writes them (`NaN`, which JSON has no word for)."""
    import math

    return math.nan, {"headers": ["x", "y"], "data": [[1.0, math.nan], [2.0, 3.0]]}


def pick(choice, answer):
    """A Dropdown and a Radio with no choices yet (filled in later by many
    apps): null is all a client can send, and Gradio takes it."""
    return f"{choice!r} {answer!r}"


def html_list(name):
    """As Gradio's own super_html demo does: a list as an HTML value."""
    return list(name)


def words(text, delay):
    """A generator, as a chatbot writing its reply: the text so far, a word
    at a time."""
    import time

    so_far = ""
    for word in text.split():
        so_far = f"{so_far} {word}".strip()
        time.sleep(float(delay))
        yield so_far


HUGE = {}


def huge_image(side):
    """A noisy PNG made once per side and returned by path, so fifty calls at
    once cost the app no encoding (2580 px: 20 MB)."""
    side = int(side)
    if side not in HUGE:
        path = os.path.join(tempfile.mkdtemp(), f"huge-{side}.png")
        rng = np.random.default_rng(5)
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(path, compress_level=1)
        HUGE[side] = path
    return HUGE[side]


def six_images(side):
    side = int(side)
    rng = np.random.default_rng(11)
    return [(Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)), f"image {i}") for i in range(6)]


CLIPS = {}


def clip(seconds):
    """A real H.264 MP4 (a test pattern, 320x240, 10 frames a second), as a
    video Space returns it; made once per length with the ffmpeg that the
    imageio-ffmpeg wheel ships."""
    import subprocess

    import imageio_ffmpeg

    seconds = float(seconds)
    if seconds not in CLIPS:
        path = os.path.join(tempfile.mkdtemp(), "pattern.mp4")
        subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
             f"testsrc=size=320x240:rate=10:duration={seconds}", "-c:v", "libx264", "-pix_fmt", "yuv420p",
             "-movflags", "+faststart", path],
            check=True,
        )
        CLIPS[seconds] = path
    return CLIPS[seconds]


def unlabelled(word):
    """Outputs nobody labelled: Gradio calls them `value_<id>`."""
    return Image.new("RGB", (64, 32), (0, 128, 0)), word.upper(), len(word)


def mirror(picture):
    """Image to image, as an upscaler or editor Space: the picture given,
    mirrored left to right, at its own size."""
    return picture.transpose(Image.FLIP_LEFT_RIGHT)


with demo:
    gr.Button("Unlabelled").click(unlabelled, inputs=[gr.Textbox()], outputs=[gr.Image(), gr.Textbox(), gr.Number()], api_name="unlabelled")
    gr.Button("Clip").click(clip, inputs=[gr.Number(label="Length", value=3)], outputs=[gr.Video(label="Clip")], api_name="clip")
    gr.Button("Mirror").click(mirror, inputs=[gr.Image(label="Picture", type="pil")], outputs=[gr.Image(label="Mirrored", format="png")], api_name="mirror")
    side = gr.Number(label="Side", value=2048)
    seconds = gr.Number(label="Seconds", value=20)
    gr.Button("Big").click(big_image, inputs=[side], outputs=[gr.Image(label="Big", format="png")], api_name="big_image")
    gr.Button("Long").click(long_audio, inputs=[seconds], outputs=[gr.Audio(label="Speech", format="wav")], api_name="long_audio")
    gr.Button("Words").click(words, inputs=[gr.Textbox(label="Text"), gr.Number(label="Delay", value=0.3)], outputs=[gr.Textbox(label="Reply")], api_name="words")
    gr.Button("Html").click(html_list, inputs=[gr.Textbox(label="Name")], outputs=[gr.HTML(label="Letters")], api_name="html_list")
    gr.Button("Pick").click(pick, inputs=[gr.Dropdown(choices=[], label="Choice"), gr.Radio(choices=[], label="Answer")], outputs=[gr.Textbox(label="Picked")], api_name="pick")
    gr.Button("NaN").click(not_a_number, inputs=None, outputs=[gr.Number(label="Value"), gr.Dataframe(label="Table")], api_name="not_a_number")
    gr.Button("Huge").click(huge_image, inputs=[side], outputs=[gr.Image(label="Huge", type="filepath")], api_name="huge_image")
    gr.Button("Six").click(six_images, inputs=[side], outputs=[gr.Gallery(label="Six", format="png")], api_name="six_images")
