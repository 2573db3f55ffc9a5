export { startAdminServer, destinationsReport, isReady, type AdminServer, type AdminRoute } from './admin-server.js';
