"""Proxies 代理人: an owner authorises a person in writing for one meeting; the committee confirms the
signed document; the proxy logs in with a code and votes for the owners they represent."""
