"""An app whose endpoint has a gr.State input and output between its
ordinary ones, as many chat apps do: `/count(text, state, times) -> (state, text)`."""

import gradio as gr


def count(text, history, times):
    history = (history or []) + [text]
    return history, f"{text * int(times)} (call {len(history)})"


with gr.Blocks() as demo:
    text = gr.Textbox(label="Text")
    history = gr.State([])
    times = gr.Number(label="Times", value=2)
    out = gr.Textbox(label="Out")
    gr.Button("Go").click(count, inputs=[text, history, times], outputs=[history, out], api_name="count")
