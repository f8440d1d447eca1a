"""The command line: tools, call, config claude, config errors, and the stdio
server's behaviour on input no MCP client would send."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from PIL import Image

from helpers import binary, local_config, write_config


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        env=dict(os.environ, **(env or {})),
    )


def test_tools_prints_every_tool_with_its_schema():
    done = run("tools")
    assert done.returncode == 0, done.stderr
    tools = {t["name"]: t for t in json.loads(done.stdout)["tools"]}
    assert set(tools) == {"generate_image", "run_dia_tts"}
    assert tools["generate_image"]["inputSchema"]["properties"]["height"]["maximum"] == 2048


def test_call_saves_files_and_prints_where(apps, tmp_path):
    config = write_config(apps.tmp, local_config(apps))
    out = tmp_path / "outputs"
    done = run("--config", str(config), "call", "generate_image", "prompt=a small boat", "width=288", "--output-dir", str(out))
    assert done.returncode == 0, done.stderr
    # The structured result, then the saved files' paths, one a line.
    result = json.JSONDecoder().raw_decode(done.stdout[done.stdout.index("{"):])[0]
    saved = Path(result["image"]["path"])
    assert saved.parent == out / "spaces-mcp" / "local" and saved.exists()
    assert str(saved) in done.stdout
    with Image.open(saved) as picture:
        assert picture.size == (288, 512)


def test_call_reports_failure_with_status_1(apps):
    config = write_config(apps.tmp, local_config(apps))
    done = run("--config", str(config), "call", "run_dia_tts", "text_input= ")
    assert done.returncode == 1
    assert "Text input cannot be empty." in done.stderr
    done = run("--config", str(config), "call", "nope")
    assert done.returncode == 1 and "unknown tool" in done.stderr


def test_invalid_config_is_refused_at_start_with_status_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[tools.generate_image]\nspace = "ysharma/SanaSprint"\napi = "/infer"\n[tools.generate_image.inputs.width]\ndefault = 100\nminimum = 256\n')
    done = run("--config", str(bad), "serve", stdin="")
    assert done.returncode == 2
    assert str(bad) in done.stderr and "tools.generate_image.inputs.width" in done.stderr and "minimum 256" in done.stderr
    assert done.stdout == ""
    missing = run("--config", str(tmp_path / "missing.toml"), "tools")
    assert missing.returncode == 2 and "missing.toml" in missing.stderr
    # Only what must clash is refused at load: a declared tool with a built-in's name.
    bad.write_text('[tools.await_job]\nspace = "http://127.0.0.1:9"\napi = "/x"\n')
    done = run("--config", str(bad), "serve", stdin="")
    assert done.returncode == 2 and "await_job" in done.stderr, done.stderr
    # Aliases that only could clash load (what really clashes is decided
    # once the Spaces are read: tests/test_discovery.py).
    for text in (
        '[spaces.await]\nspace = "http://127.0.0.1:9"\n',
        '[spaces.a]\nspace = "http://127.0.0.1:9"\n[spaces.a_b]\nspace = "http://127.0.0.1:9"\n',
    ):
        bad.write_text(text)
        done = run("--config", str(bad), "serve", stdin="")
        assert done.returncode == 0, done.stderr


def test_config_claude_names_this_binary(tmp_path):
    config = tmp_path / "spaces.toml"
    config.write_text(Path(__file__).resolve().parent.parent.joinpath("spaces.toml").read_text())
    done = run("--config", str(config), "config", "claude")
    assert done.returncode == 0, done.stderr
    entry = json.loads(done.stdout)["mcpServers"]["spaces"]
    assert os.path.isabs(entry["command"]) and os.path.samefile(entry["command"], binary())
    assert entry["args"] == ["serve", "--config", str(config)]
    assert "HF_TOKEN" in done.stderr


def test_stdin_closed_before_initialize_is_a_clean_exit():
    started = time.monotonic()
    done = run("serve", stdin="", timeout=10)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert time.monotonic() - started < 5


def test_malformed_messages_do_not_crash_the_server():
    # No MCP client sends these, so they are written by hand: garbage, a
    # JSON-RPC request with a wrong shape, then a proper exchange.
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}
    lines = [
        "this is not json",
        '{"jsonrpc": "2.0", "id": 7, "method": 42}',
        json.dumps(init),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "generate_image", "arguments": "not an object"}}),
        json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    ]
    done = run("serve", stdin="\n".join(lines) + "\n", timeout=20)
    assert "panicked" not in done.stderr
    replies = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    by_id = {r.get("id"): r for r in replies}
    assert 3 in by_id, done.stdout + done.stderr
    assert {t["name"] for t in by_id[3]["result"]["tools"]} == {"generate_image", "run_dia_tts", "await_job", "cancel_job"}
    # A malformed tools/call gets "invalid params", not silence and not a crash.
    assert by_id[2]["error"]["code"] == -32602, by_id[2]
    assert "malformed" in by_id[2]["error"]["message"]


def test_discover_prints_sections_that_work_as_config(apps, tmp_path):
    done = run("discover", apps.sana.url)
    assert done.returncode == 0, done.stderr
    assert "[tools.app_infer]" in done.stdout
    assert 'width = { type = "number", minimum = 256, maximum = 2048, default = 1024' in done.stdout
    config = tmp_path / "discovered.toml"
    config.write_text(done.stdout)
    tools = json.loads(run("--config", str(config), "tools").stdout)["tools"]
    assert tools[0]["inputSchema"]["required"] == ["prompt"]
    called = run("--config", str(config), "call", "app_infer", "prompt=found", "width=256", "height=320", "--output-dir", str(tmp_path))
    assert called.returncode == 0, called.stderr
    saved = json.JSONDecoder().raw_decode(called.stdout[called.stdout.index("{"):])[0]["result"]["path"]
    with Image.open(saved) as picture:
        assert picture.size == (256, 320)
    # A file input (the Dia stand-in's audio prompt) takes a file.
    dia = run("discover", apps.dia.url)
    assert 'audio_prompt_input = { type = "file", description = "Audio prompt: a file' in dia.stdout
    down = run("discover", "http://127.0.0.1:9", timeout=60)
    assert down.returncode == 1 and "cannot read the API of http://127.0.0.1:9" in down.stderr


def test_call_reads_the_space_of_a_spaces_table_and_types_by_its_schema(apps, tmp_path):
    # `kitchen_everything` exists only once the Space has been read, and its
    # `text` input is a string: `text=42` must reach the app as "42".
    extra = f'\n[spaces.kitchen]\nspace = "{apps.kitchen.url}"\n'
    config = write_config(apps.tmp, local_config(apps, extra))
    env = {"SPACES_MCP_CACHE_DIR": str(tmp_path / "cache")}
    done = run("--config", str(config), "call", "kitchen_everything", "text=42", "--output-dir", str(tmp_path), env=env)
    assert done.returncode == 0, done.stderr
    assert "shout: 42" in done.stdout and "length: 2" in done.stdout, done.stdout
    unknown = run("--config", str(config), "call", "kitchen_nothing", env=env)
    assert unknown.returncode == 1 and "unknown tool" in unknown.stderr and "kitchen_everything" in unknown.stderr


def test_outside_values_cannot_panic_the_process():
    for args in (
        ["serve", "--transport", "http", "--shutdown-grace", "18446744073709551615"],
        ["serve", "--transport", "http", "--session-idle-timeout", "18446744073709551615"],
        ["serve", "--transport", "http", "--max-body-bytes", "0"],
    ):
        done = run(*args, timeout=20)
        assert done.returncode == 2, (args, done.stderr)
        assert "panicked" not in done.stderr and "invalid value" in done.stderr, done.stderr


def test_call_shows_one_live_progress_line_on_a_terminal_and_plain_lines_in_a_pipe(apps, tmp_path):
    # A slow generator: 16 steps of 0.25 s, reported with gr.Progress.
    extra = f'\n[tools.steps]\nspace = "{apps.jobs.url}"\napi = "/steps"\n'
    config = write_config(apps.tmp, local_config(apps, extra))
    env = {"SPACES_MCP_CACHE_DIR": str(tmp_path / "cache")}
    words = ["--config", str(config), "call", "steps", "job=tty", "n=16", "delay=0.25", "--output-dir", str(tmp_path)]
    session = f"spaces-mcp-{os.getpid()}"
    command = " ".join([binary(), *words]) + "; echo CALL-EXITED-$?; sleep 30"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "140", "-y", "30",
                    "env", *[f"{k}={v}" for k, v in env.items()], "sh", "-c", command], check=True)
    try:
        seen_bar, most_lines = None, 0
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            progress = [line for line in screen.splitlines() if "of 16" in line]
            most_lines = max(most_lines, len(progress))
            if progress and "[" in progress[0] and "]" in progress[0]:
                seen_bar = progress[0]
            if "CALL-EXITED-" in screen:
                break
            time.sleep(0.1)
        final = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    print(f"TERMINAL live line: {seen_bar!r}")
    assert seen_bar, f"no bar with 'step n of 16' on the terminal: {final}"
    assert most_lines == 1, f"the progress took {most_lines} lines at once: {final}"
    assert "CALL-EXITED-0" in final and "job tty: 16 steps done" in final, final
    assert not [line for line in final.splitlines() if "of 16" in line], f"the live line stayed: {final}"
    # Piped: plain lines, one per update, and the result.
    piped = run(*words[:-2], "--output-dir", str(tmp_path), env=env)
    assert piped.returncode == 0, piped.stderr
    assert len([line for line in piped.stderr.splitlines() if line.startswith("… ")]) >= 3, piped.stderr
    assert "job tty: 16 steps done" in piped.stdout


def test_call_names_unlabelled_outputs_by_kind_and_prints_saved_paths_last(apps, tmp_path):
    # Gradio labels an unlabelled output `value_<id>`: named by its kind here.
    config = write_config(tmp_path, f'[tools.make]\nspace = "{apps.kitchen.url}"\napi = "/unlabelled"\n')
    done = run("--config", str(config), "call", "make", "word=hi", "--output-dir", str(tmp_path / "out"),
               env={"SPACES_MCP_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    assert "value_" not in done.stdout, done.stdout
    structured = json.loads(done.stdout[done.stdout.index("\n{") + 1:done.stdout.rindex("}") + 1])
    assert set(structured) == {"image", "text", "number"}, structured
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith(str(tmp_path / "out")) and os.path.exists(last), done.stdout
