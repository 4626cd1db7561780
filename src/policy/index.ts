export {checkPattern, checkScopeSet, expandScopes, PRESETS, ScopeSet, type Kind} from './scopes.js'
