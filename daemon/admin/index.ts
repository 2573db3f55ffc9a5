export { startAdminServer, type AdminServer, type AdminRoute, type AdminSource } from './admin-server.js';
export { adminReport } from './admin-report.js';
export { AdminAccess, AdminAccessError, OPEN_ROUTES, SESSION_COOKIE } from './admin-access.js';
export { consoleState, quantile, type ConsoleState } from './console-state.js';
export { CONSOLE_CSP } from './console-assets.js';
