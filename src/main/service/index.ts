export { AppService } from './AppService'
export { ServiceEvents } from './events'
export { bindService, type CallContext, type Handler, type Handlers } from './handlers'
export * from './options'
