"""An app that refuses work the way a ZeroGPU Space does, with the exact
texts ZeroGPU sends (as `gr.Error`, which Gradio passes on to clients):

- `/quota_once`: the first call is refused for quota ("Try again in
  0:00:03"), the next ones run;
- `/quota_long`: always refused for quota, with a ten-minute wait;
- `/no_gpu`: always refused for want of a free GPU.

Each submission that reaches a function is counted in `/submissions`, so a
test sees how many times the server submitted."""

import gradio as gr

SUBMISSIONS = {"quota_once": 0, "quota_long": 0, "no_gpu": 0}


def quota_once(prompt):
    SUBMISSIONS["quota_once"] += 1
    if SUBMISSIONS["quota_once"] == 1:
        raise gr.Error("You have exceeded your GPU quota (60s requested vs. 56s left). Try again in 0:00:03")
    return f"made: {prompt}"


def quota_long(prompt):
    SUBMISSIONS["quota_long"] += 1
    raise gr.Error("You have exceeded your GPU quota (60s requested vs. 0s left). Try again in 0:10:00")


def no_gpu(prompt):
    SUBMISSIONS["no_gpu"] += 1
    raise gr.Error("No GPU was available")


def submissions():
    return dict(SUBMISSIONS)


with gr.Blocks() as demo:
    prompt = gr.Textbox(label="Prompt")
    out = gr.Textbox(label="Result")
    counts = gr.JSON(label="Submissions")
    gr.Button("Once").click(quota_once, inputs=[prompt], outputs=[out], api_name="quota_once")
    gr.Button("Long").click(quota_long, inputs=[prompt], outputs=[out], api_name="quota_long")
    gr.Button("Busy").click(no_gpu, inputs=[prompt], outputs=[out], api_name="no_gpu")
    gr.Button("Count").click(submissions, inputs=[], outputs=[counts], api_name="submissions")
