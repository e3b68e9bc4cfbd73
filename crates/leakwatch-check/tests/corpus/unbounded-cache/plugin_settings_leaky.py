# The same plugin keeping every nick it has looked up, by nick: one entry
# per user ever seen, for the life of the client.
import weechat

display_names = {}


def lookup_cb(data, buffer, date, tags, displayed, highlight, prefix, message):
    nick = prefix.strip("@+")
    if nick not in display_names:
        display_names[nick] = weechat.info_get("irc_nick_color_name", nick)  # expect: unbounded-cache
    weechat.prnt(buffer, display_names[nick])
    return weechat.WEECHAT_RC_OK
