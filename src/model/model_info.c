/*
 * model_info.c: the public view of a loaded model: its inputs, outputs and metadata.
 */
#include <string.h>

#include "base/error.h"
#include "model/graph.h"

/* Inputs a caller feeds: graph inputs without an initializer. */
static int feedable(const lg_graph *g, int pos)
{
    int k = 0;
    for (int i = 0; i < g->n_inputs; i++)
        if (!g->values[g->inputs[i]].constant && k++ == pos) return g->inputs[i];
    return -1;
}

int lg_model_num_inputs(const lg_model *m)
{
    int k = 0;
    for (int i = 0; i < m->graph->n_inputs; i++)
        if (!m->graph->values[m->graph->inputs[i]].constant) k++;
    return k;
}

int lg_model_num_outputs(const lg_model *m) { return m->graph->n_outputs; }

static void value_info(const lg_value *v, lg_value_info *info)
{
    memset(info, 0, sizeof(*info));
    info->name = v->name;
    info->dtype = v->dtype;
    info->ndim = v->ndim;
    for (int d = 0; d < v->ndim && d < LG_MAX_DIMS; d++) {
        info->dims[d] = v->dims[d];
        info->dim_names[d] = v->dim_params[d];
    }
}

int lg_model_input_info(const lg_model *m, int i, lg_value_info *info)
{
    int v = feedable(m->graph, i);
    if (v < 0) return lg_error(LG_E_INVALID_ARG, "model has no input %d", i);
    value_info(&m->graph->values[v], info);
    return LG_OK;
}

int lg_model_output_info(const lg_model *m, int i, lg_value_info *info)
{
    if (i < 0 || i >= m->graph->n_outputs) return lg_error(LG_E_INVALID_ARG, "model has no output %d", i);
    value_info(&m->graph->values[m->graph->outputs[i]], info);
    return LG_OK;
}

static int count_nodes(const lg_graph *g)
{
    int n = g->n_nodes;
    for (int i = 0; i < g->n_nodes; i++)
        for (int a = 0; a < g->nodes[i].n_attrs; a++) {
            const lg_attr *at = &g->nodes[i].attrs[a];
            if (at->type == LG_ATTR_GRAPH) n += count_nodes(at->g);
            for (int k = 0; at->type == LG_ATTR_GRAPHS && k < at->n; k++) n += count_nodes(at->graphs[k]);
        }
    return n;
}

int lg_model_meta_get(const lg_model *m, lg_model_meta *meta)
{
    memset(meta, 0, sizeof(*meta));
    meta->producer_name = m->producer_name;
    meta->producer_version = m->producer_version;
    meta->ir_version = m->ir_version;
    meta->opset = m->opset;
    meta->num_nodes = count_nodes(m->graph);
    meta->weight_bytes = m->weight_bytes;
    return LG_OK;
}
