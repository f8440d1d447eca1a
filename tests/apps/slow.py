"""An app whose one endpoint, `/slow`, sleeps for as long as it is asked to:
the tests use it for timeouts."""

import time

import gradio as gr


def slow(seconds):
    time.sleep(float(seconds))
    return f"slept {seconds}s"


with gr.Blocks() as demo:
    seconds = gr.Number(label="Seconds", value=1)
    out = gr.Textbox(label="Result")
    gr.Button("Sleep").click(slow, inputs=[seconds], outputs=[out], api_name="slow", concurrency_limit=None)
