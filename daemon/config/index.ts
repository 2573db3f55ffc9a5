export { loadConfig, settingsFrom, ConfigError, type DaemonSettings } from './load-config.js';
