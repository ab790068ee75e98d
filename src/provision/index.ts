export * from "./endpoint-request.js";
export * from "./resource-cache.js";
export * from "./project-id.js";
export * from "./provisioner.js";
export * from "./project-session.js";
export * from "./endpoint-report.js";
export * from "./undeploy.js";
