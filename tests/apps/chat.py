"""A `gr.ChatInterface` with flagging on, as many Spaces are: its `/flag`
endpoint's `/info` gives a parameter label that is not text but a
translation object (`{"key": "chat_interface.chatbot", "_type":
"translation_metadata"}`), which once made the whole API unreadable."""

import gradio as gr


def respond(message, history):
    return f"echo: {message} ({len(history)} before)"


demo = gr.ChatInterface(respond, flagging_mode="manual")
