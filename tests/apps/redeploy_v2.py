"""The same app redeployed: `/noop` is gone, so `/echo` is now fn_index 0,
and a job sent to fn_index 1 is refused."""

import gradio as gr


def echo(text):
    return f"v2 echo: {text}"


with gr.Blocks() as demo:
    text = gr.Textbox(label="Text")
    out = gr.Textbox(label="Result")
    gr.Button("Echo").click(echo, inputs=[text], outputs=[out], api_name="echo")
