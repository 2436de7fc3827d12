#!/usr/bin/python3
"""Golden chat-template renderings for ChatTemplateTest, from Python's Jinja2 configured as Hugging Face transformers
configures it for apply_chat_template (a sandboxed environment with trim_blocks and lstrip_blocks, the loopcontrols
extension, raise_exception, strftime_now and a tojson filter that keeps non-ASCII text).

Run with Debian's Python (python3-jinja2): /usr/bin/python3 src/test/python/chat_templates.py
It rewrites src/test/resources/chat-templates/golden.json. strftime_now formats 26 July 2024, as rlsf fixes it."""
import datetime
import json
import os

from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "chat-templates")
SPECIAL = {"bos_token": "<s>", "eos_token": "</s>"}

CONVERSATIONS = {
    "user": [{"role": "user", "content": "What is 17 + 25?"}],
    "system-user": [{"role": "system", "content": "  Answer briefly.  "},
                    {"role": "user", "content": "Q: Tom has 3 apples.\nOptions: A) 2 B) 3"}],
    "multi-turn": [{"role": "user", "content": "Hi"},
                   {"role": "assistant", "content": "<think>\nsay hello\n</think>\n\nHello! ünïcode"},
                   {"role": "user", "content": "  What is 2 + 3?\n"}],
    "bad-roles": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
}


def raise_exception(message):
    raise TemplateError(message)


def strftime_now(fmt):
    return datetime.datetime(2024, 7, 26).strftime(fmt)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = lambda x, indent=None: json.dumps(x, ensure_ascii=False, indent=indent)
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def templates():
    out = {}
    for name in sorted(os.listdir(HERE)):
        path = os.path.join(HERE, name)
        if name.endswith(".jinja"):
            with open(path, encoding="utf-8") as f:
                out[name] = f.read()
        elif name.endswith("tokenizer_config.json"):
            with open(path, encoding="utf-8") as f:
                out[name] = json.load(f)["chat_template"]
    return out


def main():
    env = environment()
    golden = []
    for name, text in templates().items():
        template = env.from_string(text)
        for conv_name, messages in CONVERSATIONS.items():
            for gen in (True, False):
                row = {"template": name, "conversation": conv_name, "add_generation_prompt": gen}
                try:
                    row["rendered"] = template.render(messages=messages, add_generation_prompt=gen, **SPECIAL)
                except TemplateError as e:
                    row["error"] = str(e)
                golden.append(row)
    with open(os.path.join(HERE, "golden.json"), "w", encoding="utf-8") as f:
        json.dump({"special_tokens": SPECIAL, "conversations": CONVERSATIONS, "renders": golden}, f, indent=1,
                  ensure_ascii=False)
        f.write("\n")
    print(len(golden), "renderings")


if __name__ == "__main__":
    main()
