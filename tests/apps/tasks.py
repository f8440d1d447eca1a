"""The fixtures that the conformance suite's `tasks-*` scenarios call, as a
real Gradio app: `/greet` (quick), `/slow_compute` (sleeps `seconds`, in
ticks of 0.1 s), `/failing_job` (fails after about a second), and
`/confirm_delete`, which only says what it would delete: the suite's fixture
of that name asks the user first (elicitation), which no Gradio app can do,
so here it stands in as a quick tool that answers at once.

Each slow_compute job writes what happens to it to $JOBS_LOG (one JSON line
per event: start, tick, end, cancelled), under its label, so the tests can
see from the Space's side whether a job ran to its end or was stopped, and
when. Each start also records how many slow_compute jobs were running at
that moment, itself included (`running`), so a test can see the most the
app ever ran at once.
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


def greet(name):
    return f"Hello, {name}!"


RUNNING = 0


async def slow_compute(seconds, label, progress=gr.Progress()):
    global RUNNING
    seconds = float(seconds or 0)
    label = label or "unlabelled"
    RUNNING += 1
    record("start", label, running=RUNNING)
    ticks = int(seconds * 10)
    try:
        for i in range(ticks):
            progress((i, ticks), desc="computing", unit="ticks")
            record("tick", label, i=i)
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        record("cancelled", label)
        raise
    finally:
        RUNNING -= 1
    record("end", label)
    return f"computed {label} in {seconds:g}s"


async def failing_job():
    await asyncio.sleep(1)
    raise gr.Error("the job failed on purpose (the failing_job fixture)")


def confirm_delete(filename):
    return f"would delete {filename} (this stand-in deletes nothing)"


with gr.Blocks() as demo:
    name = gr.Textbox(label="Name")
    greeting = gr.Textbox(label="Greeting")
    gr.Button("Greet").click(greet, inputs=[name], outputs=[greeting], api_name="greet")

    seconds = gr.Number(label="Seconds", value=1)
    label = gr.Textbox(label="Label", value="")
    computed = gr.Textbox(label="Result")
    gr.Button("Compute").click(
        slow_compute, inputs=[seconds, label], outputs=[computed], api_name="slow_compute", concurrency_limit=None
    )

    failed = gr.Textbox(label="Result")
    gr.Button("Fail").click(failing_job, inputs=[], outputs=[failed], api_name="failing_job")

    filename = gr.Textbox(label="File name")
    confirmed = gr.Textbox(label="Result")
    gr.Button("Delete").click(confirm_delete, inputs=[filename], outputs=[confirmed], api_name="confirm_delete")
