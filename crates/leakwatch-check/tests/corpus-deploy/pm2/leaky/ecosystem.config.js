module.exports = {
  apps: [
    {
      name: "api",
      script: "./dist/server.js",
      instances: "max",
      exec_mode: "cluster",
      max_memory_restart: "400M",
    },
    { // expect: workers-not-recycled
      name: "jobs",
      script: "./dist/jobs.js",
      instances: 2,
    },
  ],
};
