package m365access

import "log/slog"

func slogLevelFor(s State) slog.Level {
	switch s {
	case StateConnected:
		return slog.LevelInfo
	case StateNotConnected:
		return slog.LevelInfo
	default:
		return slog.LevelWarn
	}
}
