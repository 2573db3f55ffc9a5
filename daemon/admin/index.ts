export { startAdminServer, destinationsReport, isReady, type AdminServer, type AdminRoute } from './admin-server.js';
export { metricsRoute } from './metrics-route.js';
