export { startAdminServer, type AdminServer, type AdminRoute, type AdminSource } from './admin-server.js';
export { adminReport } from './admin-report.js';
