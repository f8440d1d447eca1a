"""An app for long jobs: `/steps` runs N steps with gr.Progress (one job at a
time, as a GPU Space does), `/parallel_steps` the same with no queue limit,
and `/quota` fails as a ZeroGPU Space out of quota does.

Each job writes what happens to it to $JOBS_LOG (one JSON line per event:
start, step, end, cancelled), so the tests can see, from the Space's side,
when a job ran, whether it was submitted twice, and when a cancel stopped it.
"""

import asyncio
import json
import os
import time

import gradio as gr


# Where this instance records its jobs: set by serve_all.py, which hosts
# several apps in one process (then one environment serves them all).
JOBS_LOG_PATH = None


def record(event, job, **extra):
    path = JOBS_LOG_PATH or os.environ.get("JOBS_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"event": event, "job": job, "t": time.time(), **extra}) + "\n")


async def steps(job, n, delay, progress=gr.Progress()):
    n = int(n)
    record("start", job)
    gr.Info(f"warming up for job {job}")
    try:
        for i in range(n):
            progress((i, n), desc="denoising", unit="steps")
            record("step", job, i=i)
            await asyncio.sleep(float(delay))
    except asyncio.CancelledError:
        record("cancelled", job)
        raise
    record("end", job)
    return f"job {job}: {n} steps done"


def quota(job):
    raise gr.Error(
        "You have exceeded your GPU quota (60s requested vs. 56s left). "
        '<a href="https://huggingface.co/join" target="_blank">Create a free account</a> to get more usage quota.'
    )


with gr.Blocks() as demo:
    job = gr.Textbox(label="Job")
    n = gr.Number(label="Steps", value=5)
    delay = gr.Number(label="Seconds per step", value=0.1)
    out = gr.Textbox(label="Result")
    gr.Button("Run").click(steps, inputs=[job, n, delay], outputs=[out], api_name="steps", concurrency_limit=1)
    gr.Button("Run in parallel").click(
        steps, inputs=[job, n, delay], outputs=[out], api_name="parallel_steps", concurrency_limit=None
    )
    gr.Button("Quota").click(quota, inputs=[job], outputs=[out], api_name="quota")
