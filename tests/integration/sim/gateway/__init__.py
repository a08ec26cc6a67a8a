"""The simulated gateway: raw websocket clients for exact rules, real hikari bots for fit."""
