// Contracts: what a destination accepts, checked on every rendered request (daemon) and every
// generated render (validate).
export {
  checkContract,
  compileContract,
  contractView,
  describeViolation,
  ContractSchemaError,
  CONTRACT_MAX_BYTES,
  CONTRACT_PARTS,
  type ContractPart,
  type ContractViolation,
  type RequestContract,
} from './request-contract.js';
