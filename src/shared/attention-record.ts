export type LayerBlock = 'down' | 'mid' | 'up' | 'unknown';
