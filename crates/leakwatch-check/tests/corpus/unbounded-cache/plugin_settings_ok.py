# A chat client's plugin: its settings kept by option name, rewritten by
# the config callback, and its state under keys written in the code.
import weechat

plugin_settings = {"enabled": "on", "delay": "5"}
state = {"buffer": "", "timer": ""}


def config_cb(data, option, value):
    name = option.split(".")[-1]
    plugin_settings[name] = value
    return weechat.WEECHAT_RC_OK


def process_cb(data, command, rc, stdout, stderr):
    state["buffer"] = stdout
    if plugin_settings["enabled"] == "on":
        weechat.prnt("", state["buffer"])
    return weechat.WEECHAT_RC_OK
