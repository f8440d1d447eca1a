"""Every component the installed Gradio ships, as an app nobody tailored to
spaces-mcp: generated from `gradio.components` itself.

For each component class (aliases counted once) it makes two endpoints:
- `/in_<name>`: the component as the only input; the result is a JSON
  summary of what the function received (its Python type, and for files
  their size), so a test can see the value arrived in the form Gradio expects;
- `/out_<name>`: no input; the component as the only output, returning the
  component's own `example_value()`.

Some variants the defaults do not show get endpoints of their own (a File
that takes several files, a multiselect Dropdown, choices for CheckboxGroup
and Radio). A component that cannot be built or served headless here is left
out, and the reason written to $COMPONENTS_SKIPPED (JSON) for the test to
report.
"""

import inspect
import json
import os
import tempfile
import wave

import gradio as gr
from gradio.components.base import Component
from PIL import Image

# Constructor arguments that make a component meaningful as an endpoint.
VARIANTS = {
    "CheckboxGroup": [("checkboxgroup", {"choices": ["red", "green", "blue"]})],
    "Dropdown": [
        ("dropdown", {"choices": ["small", "large"], "value": "small"}),
        ("dropdown_multi", {"choices": ["a", "b", "c"], "multiselect": True}),
    ],
    "Radio": [("radio", {"choices": ["yes", "no"]})],
    "File": [("file", {}), ("files", {"file_count": "multiple"})],
    "UploadButton": [("uploadbutton", {"file_count": "single"})],
    "Slider": [("slider", {"minimum": 0, "maximum": 10, "value": 3})],
    "Chatbot": [("chatbot", {})],
}

# Not components an app's API takes or returns, by their nature: layout and
# control widgets with no value, and gr.State (hidden on purpose).
NOT_VALUES = {
    "Button": "a control with no value",
    "ClearButton": "a control with no value",
    "DeepLinkButton": "a control with no value",
    "DuplicateButton": "a control with no value",
    "LoginButton": "needs a Hugging Face OAuth login",
    "Timer": "a trigger with no value",
    "Navbar": "page layout",
    "State": "hidden from API clients on purpose",
    "Fallback": "a placeholder for unknown custom components",
}


LOCAL = tempfile.mkdtemp(prefix="components-files-")


def local_file(url: str) -> str:
    """A local stand-in for a file an example names on the internet (these
    machines reach no network): same name and kind, made here."""
    name = os.path.basename(url.split("?")[0]) or "file.bin"
    path = os.path.join(LOCAL, name)
    if not os.path.exists(path):
        ext = name.rsplit(".", 1)[-1].lower()
        if ext in ("png", "jpg", "jpeg", "webp", "gif"):
            Image.new("RGB", (40, 30), (200, 40, 40)).save(path, format="PNG" if ext == "png" else None)
        elif ext == "wav":
            with wave.open(path, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(8000)
                w.writeframes(b"\0\1" * 4000)
        elif ext == "gltf":
            with open(path, "w") as f:
                json.dump({"asset": {"version": "2.0"}}, f)
        elif ext == "mp4":
            with open(path, "wb") as f:
                f.write(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 256)
        else:
            with open(path, "wb") as f:
                f.write(b"%PDF-1.4 stand-in for " + name.encode())
    return path


def localize(value):
    """An example value with every internet URL made a local file."""
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return local_file(value)
    if isinstance(value, dict):
        return {k: localize(v) for k, v in value.items() if not (k == "url" and "path" in value)}
    if isinstance(value, (list, tuple)):
        return type(value)(localize(v) for v in value)
    return value


def summarize(value):
    """What the function received, in a form JSON can show."""
    if isinstance(value, str) and os.path.isfile(value):
        return {"type": "file", "size": os.path.getsize(value)}
    if isinstance(value, (list, tuple)):
        return {"type": type(value).__name__, "items": [summarize(v) for v in value]}
    if isinstance(value, dict):
        return {"type": "dict", "keys": sorted(str(k) for k in value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"type": type(value).__name__, "value": value}
    return {"type": type(value).__name__}


def constant(value):
    """A function of no input returning `value`. (Not a lambda with a default
    argument: Gradio compares defaults with `==`, which a DataFrame refuses.)"""
    return lambda: value


def classes():
    seen = set()
    for name in sorted(dir(gr.components)):
        cls = getattr(gr.components, name)
        if not (inspect.isclass(cls) and issubclass(cls, Component)) or cls is Component:
            continue
        if inspect.isabstract(cls) or cls in seen:
            continue
        seen.add(cls)
        yield cls.__name__, cls


skipped = {}
failed = {}
with gr.Blocks() as demo:
    for class_name, cls in classes():
        if class_name in NOT_VALUES:
            skipped[class_name] = NOT_VALUES[class_name]
            continue
        for endpoint, kwargs in VARIANTS.get(class_name, [(class_name.lower(), {})]):
            try:
                source = cls(**kwargs)
                received = gr.JSON(label="Received")
                gr.Button(f"in {endpoint}").click(
                    lambda value: summarize(value), inputs=[source], outputs=[received], api_name=f"in_{endpoint}"
                )
                example = localize(source.example_value())
                target = cls(**kwargs)
                gr.Button(f"out {endpoint}").click(
                    constant(example), inputs=None, outputs=[target], api_name=f"out_{endpoint}"
                )
            except Exception as e:  # a component this Gradio cannot serve here: the test fails on it
                failed[endpoint] = f"{type(e).__name__}: {e}"

path = os.environ.get("COMPONENTS_SKIPPED")
if path:
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"left_out": skipped, "failed": failed}, f, indent=1)
