"""Who is asking and what they may do: staff accounts, owner cards 业主一卡通, sessions, permissions."""
