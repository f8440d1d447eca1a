"""An app with the signature of the Space ysharma/SanaSprint's `/infer`.

It paints a flat image of the requested size instead of running a model, so the
tests can check that width and height reach the Space and come back intact.
"""

import hashlib
import random

import gradio as gr
from PIL import Image

MAX_SEED = 2147483647
MAX_SIZE = 2048


def infer(prompt, model_size, seed, randomize_seed, width, height, guidance_scale, num_inference_steps):
    """Generate an image from a prompt."""
    if randomize_seed:
        seed = random.randint(0, MAX_SEED)
    digest = hashlib.sha256(f"{prompt}|{model_size}|{seed}".encode()).digest()
    image = Image.new("RGB", (int(width), int(height)), tuple(digest[:3]))
    return image, seed


with gr.Blocks() as demo:
    prompt = gr.Textbox(label="Prompt")
    model_size = gr.Radio(["0.6B", "1.6B"], value="1.6B", label="Model size")
    seed = gr.Slider(0, MAX_SEED, value=0, step=1, label="Seed")
    randomize_seed = gr.Checkbox(value=True, label="Randomize seed")
    width = gr.Slider(256, MAX_SIZE, value=1024, step=32, label="Width")
    height = gr.Slider(256, MAX_SIZE, value=1024, step=32, label="Height")
    guidance_scale = gr.Slider(1, 15, value=4.5, step=0.1, label="Guidance scale")
    steps = gr.Slider(1, 20, value=2, step=1, label="Steps")
    run = gr.Button("Run")
    result = gr.Image(label="Result")
    seed_used = gr.Number(label="Seed used")
    run.click(
        infer,
        inputs=[prompt, model_size, seed, randomize_seed, width, height, guidance_scale, steps],
        outputs=[result, seed_used],
        api_name="infer",
    )
