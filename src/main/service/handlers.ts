import type { Channel, ParsedRequestOf, ResponseOf } from '../../shared/ipc/contract'
import type { AppService } from './app-service'

/** Context of a call, for handlers that need it (e.g. to tie a job to its caller). */
export interface CallContext {
  /** URL of the frame that sent the call. */
  senderUrl: string
}

export type Handler<C extends Channel> = (
  request: ParsedRequestOf<C>,
  context: CallContext,
) => ResponseOf<C> | Promise<ResponseOf<C>>

/** One handler per contract channel; a missing or extra entry is a type error. */
export type Handlers = { [C in Channel]: Handler<C> }

/** Binds every contract channel to a service method. */
export function bindService(service: AppService): Handlers {
  return {
    'app:getInfo': () => service.getAppInfo(),
    'model:current': () => service.currentModel(),
    'model:load': ({ dir }) => service.loadModel(dir),
    'model:open': () => service.openModel(),
    'model:recent': () => service.recentModels(),
    'generate:start': ({ params }) => service.generate(params),
    'generate:cancel': () => service.cancelGeneration(),
    'knockout:run': ({ id, words }) => service.knockOut(id, words),
    'attribute:start': (request) => service.attribute(request),
    'overlay:save': ({ id, spec }) => service.saveOverlay(id, spec),
    'overlay:saveAll': ({ id, spec }) => service.saveAllWords(id, spec),
    'maps:export': ({ id, spec }) => service.exportMaps(id, spec),
    'timelapse:save': ({ id, spec }) => service.saveTimelapse(id, spec),
    'history:list': (page) => service.listHistory(page),
    'history:get': ({ id }) => service.getHistory(id),
    'history:delete': ({ id }) => service.deleteHistory(id),
    'library:state': () => service.library.state(),
    'library:inspect': ({ spec }) => service.library.inspect(spec),
    'library:add': ({ spec }) => service.library.add(spec),
    'library:pause': ({ id }) => service.library.pause(id),
    'library:resume': ({ id }) => service.library.resume(id),
    'library:cancel': ({ id }) => service.library.cancel(id),
    'library:remove': ({ name }) => service.library.remove(name),
    'library:reveal': ({ name }) => service.library.reveal(name),
    'library:setToken': ({ token }) => service.library.setToken(token),
    'library:settings': (patch) => service.library.updateSettings(patch),
  }
}
