export { loadConfig, settingsFrom, ConfigError, type DaemonSettings } from './load-config.js';
export { adminExposureProblem, isLoopbackHost } from './admin-exposure.js';
