"""The first deployment of an app that is redeployed under a running server:
`/echo` is its second event handler (fn_index 1)."""

import gradio as gr


def echo(text):
    return f"v1 echo: {text}"


with gr.Blocks() as demo:
    text = gr.Textbox(label="Text")
    out = gr.Textbox(label="Result")
    gr.Button("Noop").click(lambda t: t, inputs=[text], outputs=[out], api_name="noop")
    gr.Button("Echo").click(echo, inputs=[text], outputs=[out], api_name="echo")
