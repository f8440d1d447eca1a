"""An app with the signature of the Space ysharma/Dia-1.6B's `/generate_audio`.

It synthesises a short tone whose length follows the text, instead of speech,
and refuses empty text with the same gr.Error as the real Space.
"""

import gradio as gr
import numpy as np

SAMPLE_RATE = 44100


def generate_audio(
    text_input,
    audio_prompt_input=None,
    max_new_tokens=3072,
    cfg_scale=3.0,
    temperature=1.3,
    top_p=0.95,
    cfg_filter_top_k=30,
    speed_factor=0.94,
):
    if not text_input or text_input.isspace():
        raise gr.Error("Text input cannot be empty.")
    seconds = min(0.05 * len(text_input), 2.0)
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    samples = (0.3 * np.sin(2 * np.pi * 440.0 * t) * 32767).astype(np.int16)
    return SAMPLE_RATE, samples


with gr.Blocks() as demo:
    text_input = gr.Textbox(label="Text")
    audio_prompt_input = gr.Audio(label="Audio prompt", type="filepath")
    max_new_tokens = gr.Slider(860, 3072, value=3072, step=50, label="Max new tokens")
    cfg_scale = gr.Slider(1, 5, value=3, step=0.1, label="CFG scale")
    temperature = gr.Slider(1, 1.5, value=1.3, step=0.05, label="Temperature")
    top_p = gr.Slider(0.8, 1, value=0.95, step=0.01, label="Top p")
    cfg_filter_top_k = gr.Slider(15, 50, value=30, step=1, label="CFG filter top k")
    speed_factor = gr.Slider(0.8, 1.0, value=0.94, step=0.02, label="Speed factor")
    run = gr.Button("Generate")
    audio_output = gr.Audio(label="Generated audio")
    run.click(
        generate_audio,
        inputs=[text_input, audio_prompt_input, max_new_tokens, cfg_scale, temperature, top_p, cfg_filter_top_k, speed_factor],
        outputs=[audio_output],
        api_name="generate_audio",
    )
