// The gitops area: the daemon following a branch of the config repository.
export { BranchFollower, type FollowOptions, type FollowState } from './follow-branch.js';
export { redactRepository } from './redact-repository.js';
export { followBranch, type FollowingBranch, type GitopsView } from './run-follower.js';
