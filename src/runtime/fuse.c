/*
 * fuse.c: fusions on a session's plan: the residual Add (and the activation after it)
 * into the node that makes one operand, and activation fusion. A node whose op takes an activation
 * (fuse_act in its lg_op_def: the CPU's Conv) and whose output feeds only an
 * activation (Relu, Clip, Sigmoid, LeakyRelu, HardSigmoid, HardSwish, Tanh), or the SiLU
 * pair x * Sigmoid(x), computes the activation in its GEMM output pass: the activation
 * nodes are skipped and the Conv writes their output value directly. The model's graph is
 * not changed; only this session's plan is.
 */
#include <string.h>

#include "base/error.h"
#include "runtime/session_impl.h"

/* Nodes of the plan that read value v (up to max), and how many there are. */
static int readers_of(const lg_plan *p, int v, int *out, int max)
{
    const lg_graph *g = p->graph;
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (p->skip[i]) continue;
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] == v) {
                if (n < max) out[n] = i;
                n++;
                break;
            }
    }
    return n;
}

static bool is_op(const lg_node *n, const char *op) { return !n->domain[0] && !strcmp(n->op_type, op); }

static const lg_tensor *constant_input(const lg_plan *p, const lg_node *n, int k)
{
    if (k >= n->n_inputs || n->inputs[k] < 0) return NULL;
    int v = n->inputs[k];
    if (p->consts[v]) return p->consts[v];
    const lg_value *val = &p->graph->values[v];
    return (val->constant && !val->is_input) ? val->constant : NULL;
}

/* The activation node j as an lg_act, if it can be fused (Clip needs constant bounds). */
static bool activation_of(const lg_plan *p, const lg_node *j, lg_act *act)
{
    if (j->n_outputs < 1 || lg_act_from_node(j, act) != LG_OK) return false;
    if (is_op(j, "Clip") && j->opset >= 11) {
        for (int k = 1; k <= 2; k++) {
            if (k >= j->n_inputs || j->inputs[k] < 0) continue;
            const lg_tensor *b = constant_input(p, j, k);
            if (!b || !b->data || b->dtype != LG_FLOAT || lg_tensor_numel_(b) != 1) return false;
            if (k == 1) act->alpha = *(const float *)b->data;
            else act->beta = *(const float *)b->data;
        }
    }
    return true;
}

/* Conv output v read only by Sigmoid s and Mul(v, s): the SiLU pair; returns Mul's index. */
static int silu_of(const lg_plan *p, int v, const int *rd, int n_rd)
{
    const lg_graph *g = p->graph;
    if (n_rd != 2) return -1;
    for (int a = 0; a < 2; a++) {
        const lg_node *sig = &g->nodes[rd[a]], *mul = &g->nodes[rd[1 - a]];
        if (!is_op(sig, "Sigmoid") || !is_op(mul, "Mul") || mul->n_inputs != 2 || sig->outputs[0] < 0) continue;
        int s = sig->outputs[0], in0 = mul->inputs[0], in1 = mul->inputs[1];
        int srd[2];
        if (!((in0 == v && in1 == s) || (in0 == s && in1 == v))) continue;
        if (readers_of(p, s, srd, 2) != 1 || g->values[s].is_output) continue;
        return rd[1 - a];
    }
    return -1;
}

static bool same_shape(const lg_value *a, const lg_value *b)
{
    if (a->ndim < 0 || a->ndim != b->ndim || a->dtype != LG_FLOAT || b->dtype != LG_FLOAT) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->dims[d] < 0 || a->dims[d] != b->dims[d]) return false;
    return true;
}

/* ResNet's y = act(conv(x) + r): a node whose op takes a residual (fuse_residual), whose
 * output only an Add reads, with the Add's other operand r made before the node runs and
 * of the same known shape, adds r (and the activation reading only the Add) in its
 * output pass. The Add and the activation are skipped. */
static void fuse_residual_adds(lg_plan *p)
{
    const lg_graph *g = p->graph;
    for (int i = 0; i < g->n_nodes; i++) {
        const lg_node *n = &g->nodes[i];
        if (p->skip[i] || !p->ops[i]->fuse_residual || !p->states[i] || n->n_outputs != 1 || n->outputs[0] < 0 ||
            p->redirect[i] >= 0)
            continue;
        int v = n->outputs[0], rd[2];
        if (g->values[v].is_output || readers_of(p, v, rd, 2) != 1) continue;
        const lg_node *add = &g->nodes[rd[0]];
        if (!is_op(add, "Add") || add->n_inputs != 2 || add->outputs[0] < 0) continue;
        int r = add->inputs[0] == v ? add->inputs[1] : add->inputs[0];
        int out = add->outputs[0];
        if (r < 0 || r == v || g->values[r].producer >= i || !same_shape(&g->values[r], &g->values[v]) ||
            !same_shape(&g->values[out], &g->values[v]))
            continue;
        lg_act act = { .kind = LG_ACT_NONE };
        int j = -1, jr[2];
        if (!g->values[out].is_output && readers_of(p, out, jr, 2) == 1 && g->nodes[jr[0]].inputs[0] == out &&
            !is_op(&g->nodes[jr[0]], "Clip") && activation_of(p, &g->nodes[jr[0]], &act))
            j = jr[0];
        if (p->ops[i]->fuse_residual(p->states[i]) != LG_OK) {
            lg_error_clear();
            continue;
        }
        p->skip[rd[0]] = true;
        p->residual[i] = r;
        p->redirect[i] = out;
        if (j >= 0 && p->ops[i]->fuse_act(p->states[i], &act) != LG_OK) {
            lg_error_clear();
            j = -1;
        }
        if (j >= 0) {
            p->skip[j] = true;
            p->redirect[i] = g->nodes[j].outputs[0];
            p->acts[i] = act;
        }
    }
}

void lg_plan_fuse(lg_plan *p)
{
    const lg_graph *g = p->graph;
    fuse_residual_adds(p);
    for (int i = 0; i < g->n_nodes; i++) {
        const lg_node *n = &g->nodes[i];
        if (p->skip[i] || !p->ops[i]->fuse_act || !p->states[i] || n->n_outputs != 1 || n->outputs[0] < 0 ||
            p->redirect[i] >= 0)
            continue;
        int v = n->outputs[0];
        if (g->values[v].is_output) continue;
        int rd[4];
        int n_rd = readers_of(p, v, rd, 4);
        lg_act act;
        int last = -1; /* the node whose output the Conv takes over */
        if (n_rd == 1 && g->nodes[rd[0]].inputs[0] == v && activation_of(p, &g->nodes[rd[0]], &act)) {
            last = rd[0];
            p->skip[rd[0]] = true;
        } else if ((last = silu_of(p, v, rd, n_rd)) >= 0) {
            act = (lg_act){ .kind = LG_ACT_SILU };
            p->skip[rd[0]] = p->skip[rd[1]] = true;
        } else {
            continue;
        }
        if (p->ops[i]->fuse_act(p->states[i], &act) != LG_OK) { /* leave the graph as it was */
            for (int k = 0; k < n_rd && k < 4; k++) p->skip[rd[k]] = false;
            lg_error_clear();
            continue;
        }
        p->redirect[i] = g->nodes[last].outputs[0];
        p->acts[i] = act;
    }
}
